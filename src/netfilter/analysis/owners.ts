// Who wrote a table: a node's netfilter has many owners (kube-proxy in either
// mode, the CNI, the container runtime, the host firewall), and a trace that
// names them tells the reader whom to ask. Known by the table names those
// projects create; anything else is "unknown", never guessed.

/** Native nft tables by name, as their owners create them. */
const NFT_OWNERS: readonly [RegExp, string][] = [
  [/^kube-proxy$/, 'kube-proxy (nftables mode)'],
  [/^docker-bridges$/, 'Docker (nftables backend)'],
  [/^firewalld$/, 'firewalld'],
  [/^calico$/, 'Calico (nftables data plane)'],
  [/^netavark$/, 'netavark (Podman)'],
  [/^flannel-ipv[46]$/, 'flannel (nftables mode)'],
  [/^fw4$/, 'OpenWrt fw4'],
  [/^cilium/, 'Cilium'],
  [/^libvirt/, 'libvirt'],
  [/^nixos-fw$/, 'NixOS firewall'],
];

/** The owner of a base chain's table: iptables tables by backend, nft tables by their well-known names. */
export function ownerOfTable(language: 'iptables' | 'nftables', table: string, backend: 'nft' | 'legacy' = 'nft'): string {
  if (language === 'iptables') return backend === 'legacy' ? 'iptables (legacy backend)' : 'iptables (nft backend)';
  for (const [re, owner] of NFT_OWNERS) if (re.test(table)) return owner;
  return 'unknown';
}
