-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "Node" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "cluster" TEXT,
    "labelsJson" TEXT NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Node_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Dump" (
    "id" SERIAL NOT NULL,
    "nodeId" INTEGER NOT NULL,
    "family" TEXT NOT NULL,
    "format" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "originalSha256" TEXT NOT NULL,
    "countersSha256" TEXT,
    "hostJson" TEXT,
    "collectedAt" TIMESTAMP(3),
    "receivedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "uploads" INTEGER NOT NULL DEFAULT 1,
    "diagnosticsJson" TEXT NOT NULL DEFAULT '[]',
    "statsJson" TEXT NOT NULL,

    CONSTRAINT "Dump_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Blob" (
    "sha256" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "encoding" TEXT NOT NULL,
    "data" BYTEA NOT NULL,
    "baseSha256" TEXT,
    "countersSha256" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Blob_pkey" PRIMARY KEY ("sha256")
);

-- CreateTable
CREATE TABLE "ApiToken" (
    "id" TEXT NOT NULL,
    "name" TEXT,
    "scope" TEXT NOT NULL,
    "cluster" TEXT,
    "hash" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3),
    "revokedAt" TIMESTAMP(3),
    "lastUsedAt" TIMESTAMP(3),

    CONSTRAINT "ApiToken_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Node_name_key" ON "Node"("name");

-- CreateIndex
CREATE INDEX "Node_cluster_idx" ON "Node"("cluster");

-- CreateIndex
CREATE INDEX "Dump_nodeId_id_idx" ON "Dump"("nodeId", "id");

-- CreateIndex
CREATE INDEX "Dump_nodeId_family_id_idx" ON "Dump"("nodeId", "family", "id");

-- CreateIndex
CREATE INDEX "Dump_sha256_idx" ON "Dump"("sha256");

-- CreateIndex
CREATE INDEX "Dump_originalSha256_idx" ON "Dump"("originalSha256");

-- CreateIndex
CREATE INDEX "Dump_countersSha256_idx" ON "Dump"("countersSha256");

-- CreateIndex
CREATE INDEX "Blob_baseSha256_idx" ON "Blob"("baseSha256");

-- CreateIndex
CREATE INDEX "Blob_countersSha256_idx" ON "Blob"("countersSha256");

-- AddForeignKey
ALTER TABLE "Dump" ADD CONSTRAINT "Dump_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Dump" ADD CONSTRAINT "Dump_sha256_fkey" FOREIGN KEY ("sha256") REFERENCES "Blob"("sha256") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Dump" ADD CONSTRAINT "Dump_originalSha256_fkey" FOREIGN KEY ("originalSha256") REFERENCES "Blob"("sha256") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Dump" ADD CONSTRAINT "Dump_countersSha256_fkey" FOREIGN KEY ("countersSha256") REFERENCES "Blob"("sha256") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Blob" ADD CONSTRAINT "Blob_baseSha256_fkey" FOREIGN KEY ("baseSha256") REFERENCES "Blob"("sha256") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Blob" ADD CONSTRAINT "Blob_countersSha256_fkey" FOREIGN KEY ("countersSha256") REFERENCES "Blob"("sha256") ON DELETE RESTRICT ON UPDATE CASCADE;

