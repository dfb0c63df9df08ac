// The address families packetpath traces.
export type Family = 'ipv4' | 'ipv6';
