-- CreateTable
CREATE TABLE "CounterSample" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "nodeId" INTEGER NOT NULL,
    "family" TEXT NOT NULL,
    "dumpId" INTEGER NOT NULL,
    "uploadedAt" DATETIME NOT NULL,
    "compared" BOOLEAN NOT NULL,
    "data" BLOB NOT NULL,
    "moved" INTEGER NOT NULL,
    "resets" INTEGER NOT NULL,
    "packets" BIGINT NOT NULL,
    "bytes" BIGINT NOT NULL,
    "policiesJson" TEXT NOT NULL DEFAULT '[]',
    CONSTRAINT "CounterSample_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "CounterSample_dumpId_fkey" FOREIGN KEY ("dumpId") REFERENCES "Dump" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "CounterSample_nodeId_family_id_idx" ON "CounterSample"("nodeId", "family", "id");

-- CreateIndex
CREATE INDEX "CounterSample_dumpId_idx" ON "CounterSample"("dumpId");

