# packetpath HTTP API. Build: docker build -t packetpath .
# Run:   docker run -p 8080:8080 -v packetpath-data:/data packetpath
# (or docker-compose up). The SQLite database lives on the /data volume.

# --- dependencies: native better-sqlite3 build and `prisma generate` -------
FROM node:20-slim AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# npm 11 honours package.json "allowScripts" (which install scripts may run).
RUN npm install -g npm@11
WORKDIR /app
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
# postinstall runs `prisma generate` (offline: JS engine, no binary download).
RUN npm ci --omit=dev \
 && npm cache clean --force

# --- runtime -----------------------------------------------------------------
FROM node:20-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATABASE_URL=file:/data/packetpath.db \
    LOG_LEVEL=info
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json prisma.config.ts tsconfig.json ./
COPY prisma ./prisma
COPY bin ./bin
COPY src ./src
# The generated Prisma client (src/generated is not in the build context).
COPY --from=deps /app/src/generated ./src/generated
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Migrations are applied by the server at start.
CMD ["npm", "start"]
