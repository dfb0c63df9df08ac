// A strict little XML reader for tests: enough to say Graphviz's SVG is
// well-formed (balanced tags, quoted attributes, only declared entities) and to
// query it, without a dependency. Throws on anything malformed.
export interface XmlElement {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: XmlElement[];
  /** The element's own text, entities decoded. */
  text: string;
}

const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(raw: string, where: number): string {
  if (raw.includes('<')) throw new Error(`'<' in text or attribute at ${where}`);
  return raw.replace(/&([^;&\s]*);?/g, (whole, name: string) => {
    if (!whole.endsWith(';')) throw new Error(`bare '&' at ${where}`);
    if (name.startsWith('#x')) return String.fromCodePoint(parseInt(name.slice(2), 16));
    if (name.startsWith('#')) return String.fromCodePoint(Number(name.slice(1)));
    const v = ENTITIES[name];
    if (v === undefined) throw new Error(`undeclared entity &${name}; at ${where}`);
    return v;
  });
}

export function parseXml(text: string): XmlElement {
  const root: XmlElement = { name: '#document', attrs: {}, children: [], text: '' };
  const stack: XmlElement[] = [root];
  let i = 0;
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    const chunk = lt < 0 ? text.slice(i) : text.slice(i, lt);
    stack[stack.length - 1]!.text += decode(chunk, i);
    if (lt < 0) break;
    const skip = (open: string, close: string): boolean => {
      if (!text.startsWith(open, lt)) return false;
      const end = text.indexOf(close, lt + open.length);
      if (end < 0) throw new Error(`unterminated ${open} at ${lt}`);
      i = end + close.length;
      return true;
    };
    if (skip('<!--', '-->') || skip('<?', '?>') || skip('<!DOCTYPE', '>') || skip('<![CDATA[', ']]>')) continue;
    const gt = text.indexOf('>', lt);
    if (gt < 0) throw new Error(`unterminated tag at ${lt}`);
    const tag = text.slice(lt + 1, gt);
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      const open = stack.pop();
      if (!open || open === root || open.name !== name) throw new Error(`</${name}> closes <${open?.name}> at ${lt}`);
    } else {
      const selfClosing = tag.endsWith('/');
      const body = selfClosing ? tag.slice(0, -1) : tag;
      const m = /^([A-Za-z_][\w:.-]*)/.exec(body);
      if (!m) throw new Error(`bad tag name at ${lt}`);
      const attrs: Record<string, string> = {};
      let rest = body.slice(m[1]!.length);
      const attr = /^\s+([A-Za-z_][\w:.-]*)\s*=\s*("([^"]*)"|'([^']*)')/;
      for (let a = attr.exec(rest); a; a = attr.exec(rest)) {
        if (a[1]! in attrs) throw new Error(`duplicate attribute ${a[1]} at ${lt}`);
        attrs[a[1]!] = decode(a[3] ?? a[4] ?? '', lt);
        rest = rest.slice(a[0].length);
      }
      if (rest.trim() !== '') throw new Error(`bad attributes '${rest}' at ${lt}`);
      const el: XmlElement = { name: m[1]!, attrs, children: [], text: '' };
      stack[stack.length - 1]!.children.push(el);
      if (!selfClosing) stack.push(el);
    }
    i = gt + 1;
  }
  if (stack.length !== 1) throw new Error(`<${stack[stack.length - 1]!.name}> never closed`);
  if (root.children.length !== 1) throw new Error(`${root.children.length} root elements`);
  return root.children[0]!;
}

export function* descendants(el: XmlElement): Generator<XmlElement> {
  for (const c of el.children) {
    yield c;
    yield* descendants(c);
  }
}

/** All text under an element, children included. */
export function allText(el: XmlElement): string {
  return el.text + el.children.map(allText).join('');
}
