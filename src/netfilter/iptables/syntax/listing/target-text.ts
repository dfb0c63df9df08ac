// What each target extension prints in a listing, read back (split from parse-listing.ts).
import type { Family } from '../../model.ts';
import { hex, parseUint } from '../values.ts';
import { LOG_LEVELS, LOG_FLAGS, TOS_NAMES } from './shared.ts';
import { Scanner } from './scanner.ts';
import { lookup } from './util.ts';
/** Reads what a target extension prints. `name` replaces the target column when the listing names it differently. */
export function parseTarget(s: Scanner, target: string, family: Family): { options: string[]; name?: string } | undefined {
  const hex32 = '0x[0-9a-fA-F]+';
  switch (target) {
    case 'DNAT':
    case 'SNAT': {
      const m = s.re(/to:(\S+)((?: (?:random-fully|random|persistent))*)/y);
      if (!m) return undefined;
      const extraFlags = m[2]!.trim().split(/\s+/).filter(Boolean).map((f) => `--${f}`);
      return { options: [target === 'DNAT' ? '--to-destination' : '--to-source', m[1]!, ...extraFlags] };
    }
    case 'NETMAP': {
      const m = s.re(/to:(\S+)/y);
      return m ? { options: ['--to', m[1]!] } : undefined;
    }
    case 'MASQUERADE':
    case 'REDIRECT': {
      const m = target === 'MASQUERADE'
        ? s.re(/(?:masq ports: (\d+(?:-\d+)?))?((?:\s*(?:random-fully|random))*)/y)
        : s.re(/(?:redir ports (\d+(?:-\d+)?))?((?:\s*(?:random-fully|random))*)/y);
      if (!m || m[0] === '') return undefined;
      return { options: [...(m[1] ? ['--to-ports', m[1]] : []), ...m[2]!.trim().split(/\s+/).filter(Boolean).map((f) => `--${f}`)] };
    }
    case 'MARK':
    case 'CONNMARK': {
      const m = s.re(new RegExp(`${target} (and|or|xor|set|xset) (${hex32}(?:/${hex32})?)`, 'y'));
      if (m) {
        const [val, mask] = m[2]!.split('/');
        switch (m[1]) {
          case 'and':
            return { options: ['--and-mark', val!] };
          case 'or':
            return { options: ['--or-mark', val!] };
          case 'xor':
            return { options: ['--xor-mark', val!] };
          case 'set':
            return { options: ['--set-xmark', `${val}/${mask ?? '0xffffffff'}`] };
          default:
            return { options: ['--set-xmark', `${val}/${mask ?? '0xffffffff'}`] };
        }
      }
      if (target !== 'CONNMARK') return undefined;
      const sr = s.re(new RegExp(`CONNMARK (save|restore)(?: mask (${hex32})| (nfmask|ctmask) (${hex32}) (ctmask|nfmask) ~?(${hex32}))?`, 'y'));
      if (!sr) return undefined;
      const out = [sr[1] === 'save' ? '--save-mark' : '--restore-mark'];
      if (sr[2]) out.push('--mask', sr[2]);
      if (sr[3]) out.push(`--${sr[3]}`, sr[4]!, `--${sr[5]}`, sr[6]!);
      return { options: out };
    }
    case 'LOG': {
      const m = s.re(/LOG(?: flags (\d+) level (\d+)| level (\w+)((?: (?:tcp-sequence|tcp-options|ip-options|uid|macdecode))*)| UNKNOWN level (\d+))/y);
      if (!m) return undefined;
      const out: string[] = [];
      let level: string;
      if (m[1] !== undefined) {
        level = m[2]!;
        let bits = Number(m[1]);
        for (const [bit, , option] of LOG_FLAGS) {
          if (bits & bit) {
            out.push(`--${option}`);
            bits &= ~bit;
          }
        }
        bits &= ~0x10; // IPT_LOG_NFLOG: internal
        if (bits !== 0) return undefined;
      } else if (m[3] !== undefined) {
        const l = lookup(LOG_LEVELS, m[3].toLowerCase());
        if (l === undefined) return undefined;
        level = l;
        s.names = true;
        for (const f of m[4]!.trim().split(/\s+/).filter(Boolean)) out.push(`--${LOG_FLAGS.find(([, n]) => n === f)![2]}`);
      } else level = m[5]!;
      s.ws();
      const rest = s.text.slice(s.pos);
      let prefix: string | undefined;
      const q = /^prefix (["`])/.exec(rest);
      if (q) {
        const close = q[1] === '"' ? rest.lastIndexOf('"') : rest.lastIndexOf("'");
        if (close < q[0].length || rest.slice(close + 1).trim() !== '') return undefined;
        prefix = rest.slice(q[0].length, close);
        s.pos = s.text.length;
      }
      return { options: ['--log-level', level, ...(prefix !== undefined ? ['--log-prefix', prefix] : []), ...out] };
    }
    case 'REJECT': {
      const m = s.re(/reject-with (\S+)/y);
      return m ? { options: ['--reject-with', m[1]!] } : undefined;
    }
    case 'NFLOG': {
      const out: string[] = [];
      for (;;) {
        const p = s.re(/nflog-prefix\s+"((?:[^"\\]|\\.)*)"/y) ?? s.re(/nflog-prefix\s+(\S+)/y);
        if (p) {
          out.push('--nflog-prefix', p[1]!.replace(/\\(.)/g, '$1'));
          continue;
        }
        const n = s.re(/nflog-(group|range|size|threshold)\s+(\d+)/y);
        if (n) {
          out.push(`--nflog-${n[1]}`, n[2]!);
          continue;
        }
        break;
      }
      return out.length ? { options: out } : undefined;
    }
    case 'NFQUEUE': {
      const m = s.re(/NFQUEUE (?:num (\d+)|balance (\d+:\d+))( bypass)?( cpu-fanout)?/y);
      if (!m) return undefined;
      return { options: [...(m[1] ? ['--queue-num', m[1]] : ['--queue-balance', m[2]!]), ...(m[3] ? ['--queue-bypass'] : []), ...(m[4] ? ['--queue-cpu-fanout'] : [])] };
    }
    case 'TEE': {
      const m = s.re(/TEE gw:(\S+)(?: oif:(\S+))?/y);
      return m ? { options: ['--gateway', m[1]!, ...(m[2] ? ['--oif', m[2]] : [])] } : undefined;
    }
    case 'TPROXY': {
      const m = family === 'ipv4'
        ? s.re(new RegExp(`TPROXY redirect ([0-9.]+):(\\d+) mark (${hex32}/${hex32})`, 'y'))
        : s.re(new RegExp(`TPROXY redirect ([0-9a-fA-F:]+|\\[[0-9a-fA-F:]+\\]):(\\d+) mark (${hex32}/${hex32})`, 'y'));
      return m ? { options: ['--on-port', m[2]!, '--on-ip', m[1]!.replace(/^\[|\]$/g, ''), '--tproxy-mark', m[3]!] } : undefined;
    }
    case 'TOS': {
      const m = s.re(new RegExp(`TOS (set|and|or|xor)\\s*(${hex32}(?:/${hex32})?|[A-Z][A-Za-z-]+)`, 'y'));
      if (!m) return undefined;
      // libxt_TOS prints and/or/xor for some value/mask pairs; iptables-save always writes --set-tos value/mask.
      let v = m[2]!;
      if (!v.startsWith('0x')) {
        const n = lookup(TOS_NAMES, v);
        if (n === undefined || m[1] !== 'set') return undefined;
        s.names = true;
        v = `${hex(n)}/0x3f`;
      }
      const [a, b] = v.split('/');
      const x = parseUint(a!, 0xff);
      if (x === undefined) return undefined;
      switch (m[1]) {
        case 'and':
          return b === undefined ? { options: ['--set-tos', `0x0/${hex(~x & 0xff)}`] } : undefined;
        case 'or':
          return b === undefined ? { options: ['--set-tos', `${hex(x)}/${hex(x)}`] } : undefined;
        case 'xor':
          return b === undefined ? { options: ['--set-tos', `${hex(x)}/0x0`] } : undefined;
        default:
          return { options: ['--set-tos', v] };
      }
    }
    case 'DSCP': {
      const m = s.re(/DSCP set (0x[0-9a-fA-F]+)/y);
      return m ? { options: ['--set-dscp', m[1]!] } : undefined;
    }
    case 'TTL':
    case 'HL': {
      const m = s.re(new RegExp(`${target} (set to|decrement by|increment by) (\\d+)`, 'y'));
      if (!m) return undefined;
      const op = { 'set to': 'set', 'decrement by': 'dec', 'increment by': 'inc' }[m[1] as 'set to' | 'decrement by' | 'increment by'];
      return { options: [`--${target.toLowerCase()}-${op}`, m[2]!] };
    }
    case 'TCPMSS': {
      const m = s.re(/TCPMSS (?:(clamp to PMTU)|set (\d+))/y);
      return m ? { options: m[1] ? ['--clamp-mss-to-pmtu'] : ['--set-mss', m[2]!] } : undefined;
    }
    case 'CHECKSUM':
      return s.re(/CHECKSUM fill/y) ? { options: ['--checksum-fill'] } : undefined;
    case 'CLASSIFY': {
      const m = s.re(/CLASSIFY set ([0-9a-fA-F]+):([0-9a-fA-F]+)/y);
      return m ? { options: ['--set-class', `${m[1]!.padStart(4, '0')}:${m[2]!.padStart(4, '0')}`] } : undefined;
    }
    case 'CT': {
      if (s.re(/NOTRACK/y)) return { options: [], name: 'NOTRACK' };
      const m = s.re(/CT((?: (?:notrack|helper \S+|ctevents \S+|expevents \S+|zone-orig \d+|zone-reply \d+|zone \d+|timeout \S+))+)/y);
      if (!m) return undefined;
      const words = m[1]!.trim().split(/\s+/);
      const out: string[] = [];
      for (let k = 0; k < words.length; k++) {
        const w = words[k]!;
        if (w === 'notrack') out.push('--notrack');
        else out.push(`--${w}`, words[++k]!);
      }
      return { options: out };
    }
    case 'SET': {
      const out: string[] = [];
      for (;;) {
        const m = s.re(/(add-set|del-set|map-set)\s+(\S+)\s+((?:src|dst)(?:,(?:src|dst))*)/y);
        if (m) {
          out.push(`--${m[1]}`, m[2]!, m[3]!);
          continue;
        }
        const f = s.re(/(exist|map-mark|map-prio|map-queue)/y);
        if (f) {
          out.push(`--${f[1]}`);
          continue;
        }
        const t = s.re(/timeout (\d+)/y);
        if (t) {
          out.push('--timeout', t[1]!);
          continue;
        }
        break;
      }
      return out.length ? { options: out } : undefined;
    }
    case 'AUDIT': {
      const m = s.re(/AUDIT (accept|drop|reject)/y);
      return m ? { options: ['--type', m[1]!] } : undefined;
    }
    case 'CONNSECMARK': {
      const m = s.re(/CONNSECMARK (save|restore)/y);
      return m ? { options: [`--${m[1]}`] } : undefined;
    }
    case 'SECMARK': {
      const m = s.re(/SECMARK selctx (\S+)/y);
      return m ? { options: ['--selctx', m[1]!] } : undefined;
    }
    default:
      return undefined;
  }
}
