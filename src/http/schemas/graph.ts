// Schemas of the pictures of a table's chains and of a diff (issue 16): the
// formats they come in and the Drawing (`format=json`) they are printed from.
import { Type, type Static } from '@sinclair/typebox';
import { Shape, Tone } from '../../netfilter/analysis/draw/drawing.ts';
import { DumpFamilySchema, StringEnum, ref } from './common.ts';

/** How a picture is answered: laid out (`svg`), as Graphviz or Mermaid source, or the Drawing itself (`json`). */
export enum GraphFormat {
  Svg = 'svg',
  Dot = 'dot',
  Mermaid = 'mermaid',
  Json = 'json',
}

/** The media type of each picture format. */
export const GRAPH_MEDIA_TYPES: Readonly<Record<GraphFormat, string>> = {
  [GraphFormat.Svg]: 'image/svg+xml; charset=utf-8',
  [GraphFormat.Dot]: 'text/vnd.graphviz; charset=utf-8',
  [GraphFormat.Mermaid]: 'text/vnd.mermaid; charset=utf-8',
  [GraphFormat.Json]: 'application/json; charset=utf-8',
};

export const GraphFormatSchema = StringEnum(Object.values(GraphFormat), {
  $id: 'GraphFormat',
  description: '`svg` (laid out by Graphviz), `dot` (Graphviz source), `mermaid` (to paste into docs), `json` (the Drawing the others are printed from)',
});

const ExpandSchema = Type.String({
  maxLength: 4096,
  description:
    "Comma-separated groups or chains to draw as boxes of their own: a group by its name (`KUBE-SEP-*`, `endpoint-*`), or a chain by name with the grouped chains it leads to (`KUBE-SVC-…`: the Service's chain and its endpoints). At most 200 chains are expanded; the rest stay grouped (a note says so). A name that is neither is a 400.",
  examples: ['KUBE-SEP-*', 'KUBE-SVC-ERIFXISQEP7F7OF4'],
});

export const GraphQuerySchema = Type.Object({
  dump: Type.Optional(Type.Integer({ minimum: 1, description: 'A dump id of this node; default: its latest version of `family`' })),
  family: Type.Optional({ ...ref(DumpFamilySchema), description: '`ipv4` (default), `ipv6`; an nft table (`ip kube-proxy`) reads the node\'s nft version whatever `family` says' }),
  format: Type.Optional(ref(GraphFormatSchema)),
  expand: Type.Optional(ExpandSchema),
});
export type GraphQuery = Static<typeof GraphQuerySchema>;

/** The extra parameters of a drawn diff. */
export const DiffGraphQueryFields = {
  table: Type.Optional(Type.String({ maxLength: 300, description: 'With a picture `format`: the table drawn; iptables `filter` by default, for `family=nft` the nft table (`ip kube-proxy`), by default the only table of both sides', examples: ['nat', 'ip kube-proxy'] })),
  expand: Type.Optional({ ...ExpandSchema, description: `${ExpandSchema.description} In a diff, \`changed\` stands for every chain that differs (added, removed, changed), drawn alone.`, examples: ['changed', 'KUBE-SEP-*'] }),
};

const ToneSchema = StringEnum(Object.values(Tone), { $id: 'DrawTone', description: 'What a box, arrow or frame stands for; the printers give each one colour and line style' });
const ShapeSchema = StringEnum(Object.values(Shape), { $id: 'DrawShape' });

export const DrawingSchema = Type.Object(
  {
    title: Type.String(),
    direction: StringEnum(['LR', 'TB']),
    frames: Type.Array(Type.Object({ id: Type.String(), label: Type.String(), tone: ref(ToneSchema), parent: Type.Optional(Type.String()) })),
    nodes: Type.Array(
      Type.Object({
        id: Type.String({ description: 'Letters, digits and underscores' }),
        label: Type.Array(Type.String(), { description: 'Lines; the first is the title (a chain or group name)' }),
        shape: ref(ShapeSchema),
        tone: ref(ToneSchema),
        frame: Type.Optional(Type.String()),
        tooltip: Type.Optional(Type.String()),
        link: Type.Optional(Type.String({ description: "Relative to the picture's URL: a chain's page, a group's expansion" })),
      }),
    ),
    edges: Type.Array(Type.Object({ from: Type.String(), to: Type.String(), label: Type.Optional(Type.String()), tone: ref(ToneSchema), style: Type.Optional(StringEnum(['solid', 'dashed', 'dotted'])) })),
    notes: Type.Array(Type.String()),
  },
  { $id: 'Drawing', description: 'A picture before layout: boxes (nodes), arrows (edges) and frames with what they mean (tone), and notes shown under it.' },
);

export const GRAPH_SCHEMAS = [GraphFormatSchema, ToneSchema, ShapeSchema, DrawingSchema];
