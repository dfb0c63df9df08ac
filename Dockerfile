# packetpath HTTP API. Build: docker build -t packetpath .
# Run:   docker run -p 8080:8080 -v packetpath-data:/data packetpath
# (or docker-compose up). The SQLite database lives on the /data volume.

# --- build: `npm ci` generates the Prisma client and compiles dist/ (prepare) --
FROM node:20-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN npm install -g npm@11
WORKDIR /app
COPY package.json package-lock.json prisma.config.ts tsconfig.json tsconfig.build.json ./
COPY prisma ./prisma
COPY scripts ./scripts
COPY src ./src
RUN npm ci && npm cache clean --force

# --- production dependencies: native better-sqlite3 build, nothing else ------
FROM build AS deps
RUN rm -rf node_modules \
 && npm ci --omit=dev --ignore-scripts \
 && npm rebuild better-sqlite3 \
 && npm cache clean --force

# --- runtime -------------------------------------------------------------------
FROM node:20-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATABASE_URL=file:/data/packetpath.db \
    LOG_LEVEL=info
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY prisma ./prisma
COPY bin ./bin
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The compiled CLI's `serve` (what `npm start` runs from a checkout); migrations apply at start.
CMD ["node", "bin/packetpath.mjs", "serve"]
