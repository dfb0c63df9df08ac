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

/** iptables chains by the prefixes their owners give them (kube-proxy's KUBE-*, Calico's cali-...). */
const CHAIN_OWNERS: readonly [RegExp, string][] = [
  [/^KUBE-/, 'kube-proxy (iptables mode)'],
  [/^cali-/, 'Calico (iptables data plane)'],
  [/^CILIUM/, 'Cilium'],
  [/^DOCKER/, 'Docker (iptables)'],
  [/^NETAVARK/, 'netavark (Podman)'],
  [/^FLANNEL-/, 'flannel'],
  [/^LIBVIRT_/, 'libvirt'],
  [/^(IN|FWD|OUT)_|^f2b-/, 'firewalld / fail2ban'],
];

/** The owner of an iptables chain (and its rules) from the chain's name or a rule comment; `unknown` otherwise. */
export function ownerOfChain(chain: string, comment?: string): string {
  for (const [re, owner] of CHAIN_OWNERS) if (re.test(chain)) return owner;
  if (comment && /^(cali|CILIUM|kube|KUBE)/.test(comment)) return ownerOfChain(comment.startsWith('cali') ? 'cali-' : comment.startsWith('CILIUM') ? 'CILIUM' : 'KUBE-');
  return 'unknown';
}
