// A node whose rules are in both iptables backends is uploaded as two nodes:
// its own (the iptables-nft dump, with the nft ruleset) and a companion
// holding the iptables-legacy dump, so that each is listed, versioned and
// diffed on its own; a trace of the node runs both (the kernel does).
// Pure: the agent imports it.

export const LEGACY_SUFFIX = '.iptables-legacy';

/** The companion node holding `node`'s iptables-legacy tables. */
export const legacyCompanionOf = (node: string): string => `${node}${LEGACY_SUFFIX}`;
