// The store: repository functions over Prisma (SQLite or PostgreSQL). Every function takes a
// Prisma client or transaction client first; writes that must be atomic run
// through `writeTransaction` (uploadDumps and removeNode do it themselves).
export { openDatabase } from './open.ts';
export { isPostgresUrl, redactedUrl } from './postgres.ts';
export {
  openSqliteDatabase,
  writeTransaction,
  writeActivityOf,
  isBusyError,
  isUnreachableError,
  databaseFilePath,
  DatabaseUrlError,
  type Database,
  type Client,
  type Tx,
  type OpenOptions,
  type Provider,
  type WriteOptions,
  type WriteActivity,
} from './db.ts';
export { applyMigrations, readMigrations, MIGRATIONS_DIR, MigrationError, type Migration, type MigrationReport } from './migrate.ts';
export { StoreError, StoreUnavailableError, ForbiddenError, NotFoundError, InvalidCursorError, DumpParseError, InvalidInputError, type Problem, type StoreErrorKind } from './errors.ts';
export { DEFAULT_LIMIT, MAX_LIMIT, clampLimit, encodeCursor, decodeCursor, type Page, type PageRequest } from './cursor.ts';
export { putBlob, getBlobText, decodeBlob, deleteUnreferencedBlobs, blobStorageBytes } from './blobs.ts';
export { decodeText } from './charset.ts';
export { sha256Hex, sha256HexSteps } from './hash.ts';
export { LEGACY_SUFFIX, legacyCompanionOf } from './companions.ts';
export { prepareDump, prepareDumpSteps, stripCounters, extractCounters, type PreparedDump, type PrepareOptions, type RulesetStats } from './ingest.ts';
export { prepareNftDump, prepareNftDumpSteps, looksLikeNft, detectNftFormat, parseNftDump, parseNftDumpSteps, stripNftLiveValues, isNftFormat, NFT_FORMATS, type NftDumpFormat, type PreparedNftDump, type PrepareNftOptions, type PreparedVersion } from './nft-ingest.ts';
export { createNode, findNode, getNode, listNodes, deleteNode, upsertNode, requireNodeId, type NodeInfo, type NodeMeta, type Labels, type ListNodesOptions } from './nodes.ts';
export {
  createDump,
  DEFAULT_COUNTER_HISTORY,
  recordDump,
  uploadDumps,
  listDumps,
  findDump,
  findDumpById,
  findDumpsByIds,
  latestDump,
  getDumpBytes,
  getDumpText,
  type DumpInfo,
  type StoredFamily,
  type StoredFormat,
  type DumpDetail,
  type DumpTextKind,
  type RecordResult,
  type RecordDumpInput,
  type UploadInput,
  type ListDumpsOptions,
} from './dumps.ts';
export {
  LruCache,
  createRulesetCache,
  loadDumpRuleset,
  loadNftRuleset,
  loadNftBlob,
  runStepsYielding,
  EVENT_LOOP_TURNS,
  loadBlobRuleset,
  rulesetCacheKey,
  primeCanonicalRuleset,
  primeUploadedRuleset,
  primeUploadedNftRuleset,
  type RulesetCache,
  type ParseYielding,
  type RulesetSource,
  type ParsedRuleset,
  type LoadedRuleset,
} from './rulesets.ts';
export { latestDumpId, latestDumpIdIfAny, findDumpHostJson } from './dump-refs.ts';
export { latestVersionsOfAllNodes, type LatestVersion } from './latest-versions.ts';
export { ReadCache, sqliteChangeWatch, changeWatchOf, type ChangeWatch } from './read-cache.ts';
export {
  createToken,
  listTokens,
  revokeToken,
  hasTokens,
  verifyToken,
  verifyTokenWith,
  findTokenRow,
  touchToken,
  scopeAllows,
  isTokenScope,
  looksLikeToken,
  presentedTokenId,
  expiryAfter,
  MAX_TOKEN_LIFETIME_MS,
  tokenPrefix,
  TOKEN_SCOPES,
  type TokenScope,
  type TokenInfo,
  type CreatedToken,
  type CreateTokenInput,
  type VerifyResult,
  type VerifyFailure,
  type TokenRow,
} from './tokens.ts';
export { parseDuration, DURATION_PATTERN } from './duration.ts';
export {
  counterWindow,
  listCounterUploads,
  latestPolicyDrops,
  recordCounterSample,
  type CounterWindow,
  type CounterSampleData,
  type CounterUpload,
  type PolicyCount,
  type PolicyDrops,
  type SampleRef,
  type WindowBound,
} from './counter-samples.ts';
export type { CounterMove } from './counter-moves.ts';
