-- CreateTable
CREATE TABLE "Node" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "name" TEXT NOT NULL,
    "cluster" TEXT,
    "labelsJson" TEXT NOT NULL DEFAULT '{}',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "Dump" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "nodeId" INTEGER NOT NULL,
    "family" TEXT NOT NULL,
    "format" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "originalSha256" TEXT NOT NULL,
    "countersSha256" TEXT,
    "hostJson" TEXT,
    "collectedAt" DATETIME,
    "receivedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "uploads" INTEGER NOT NULL DEFAULT 1,
    "diagnosticsJson" TEXT NOT NULL DEFAULT '[]',
    "statsJson" TEXT NOT NULL,
    CONSTRAINT "Dump_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Dump_sha256_fkey" FOREIGN KEY ("sha256") REFERENCES "Blob" ("sha256") ON DELETE RESTRICT ON UPDATE CASCADE,
    CONSTRAINT "Dump_originalSha256_fkey" FOREIGN KEY ("originalSha256") REFERENCES "Blob" ("sha256") ON DELETE RESTRICT ON UPDATE CASCADE,
    CONSTRAINT "Dump_countersSha256_fkey" FOREIGN KEY ("countersSha256") REFERENCES "Blob" ("sha256") ON DELETE SET NULL ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Blob" (
    "sha256" TEXT NOT NULL PRIMARY KEY,
    "size" INTEGER NOT NULL,
    "encoding" TEXT NOT NULL,
    "data" BLOB NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
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

