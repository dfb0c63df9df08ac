-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Blob" (
    "sha256" TEXT NOT NULL PRIMARY KEY,
    "size" INTEGER NOT NULL,
    "encoding" TEXT NOT NULL,
    "data" BLOB NOT NULL,
    "baseSha256" TEXT,
    "countersSha256" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Blob_baseSha256_fkey" FOREIGN KEY ("baseSha256") REFERENCES "Blob" ("sha256") ON DELETE RESTRICT ON UPDATE CASCADE,
    CONSTRAINT "Blob_countersSha256_fkey" FOREIGN KEY ("countersSha256") REFERENCES "Blob" ("sha256") ON DELETE RESTRICT ON UPDATE CASCADE
);
INSERT INTO "new_Blob" ("createdAt", "data", "encoding", "sha256", "size") SELECT "createdAt", "data", "encoding", "sha256", "size" FROM "Blob";
DROP TABLE "Blob";
ALTER TABLE "new_Blob" RENAME TO "Blob";
CREATE INDEX "Blob_baseSha256_idx" ON "Blob"("baseSha256");
CREATE INDEX "Blob_countersSha256_idx" ON "Blob"("countersSha256");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

