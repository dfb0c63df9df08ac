// Counters over time: GET /nodes/{node}/counters and /counters/uploads.
import { Type, type Static } from '@sinclair/typebox';
import { DateTimeSchema, FamilySchema } from './common.ts';
import { ref } from './common.ts';

/** Most rules one window answer lists (a 10k-Service node has 174k rules). */
export const MAX_COUNTER_RULES = 10_000;

const Bound = (what: string) =>
  Type.String({
    minLength: 1,
    maxLength: 64,
    pattern: '^([1-9][0-9]{0,14}|[0-9]+(ms|s|m|h|d|w)|[0-9]{4}-[0-9]{2}-[0-9]{2}([T ].*)?)$',
    description: `${what}: an upload id (as \`from.upload\`/\`to.upload\` and \`GET /nodes/{node}/counters/uploads\` give them), an ISO 8601 time (the latest upload at or before it), or a duration back from now (\`15m\`, \`2h\`, \`1d\`; units ms, s, m, h, d, w)`,
  });

export const CounterWindowQuerySchema = Type.Object({
  since: Type.Optional(Bound('Where the window starts (its counters are the baseline; default: the upload before `until`)')),
  until: Type.Optional(Bound('Where the window ends (default: the latest upload)')),
  family: Type.Optional(ref(FamilySchema)),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_COUNTER_RULES, default: 100, description: `Rules listed at most, the busiest first (default 100, at most ${MAX_COUNTER_RULES}); \`rulesMoved\` counts them all` })),
  offset: Type.Optional(Type.Integer({ minimum: 0, default: 0, description: 'Rules skipped before the listed ones (pages of the sorted list)' })),
});
export type CounterWindowQuery = Static<typeof CounterWindowQuerySchema>;

export const CounterUploadRefSchema = Type.Object(
  {
    upload: Type.Integer({ description: 'The upload\'s id in the node\'s counter history' }),
    dump: Type.Integer({ description: 'The version (dump id) it was an upload of' }),
    uploadedAt: DateTimeSchema,
  },
  { $id: 'CounterUploadRef' },
);

export const RuleCountSchema = Type.Object(
  {
    table: Type.String(),
    chain: Type.String(),
    rule: Type.Integer({ description: '1-based number of the rule in its chain (in the window\'s last version that has it)' }),
    text: Type.String({ description: 'The rule as iptables-save prints it (canonical, without counters)' }),
    packets: Type.Integer({ description: 'Packets it counted in the window' }),
    bytes: Type.Integer(),
    resets: Type.Optional(Type.Integer({ description: 'Times its counter went down in the window (reset, restart): from then on it counts from its new value' })),
  },
  { $id: 'RuleCount' },
);

export const PolicyCountSchema = Type.Object(
  {
    table: Type.String(),
    chain: Type.String({ description: 'A built-in chain' }),
    policy: Type.String({ description: 'Its policy at the end of the window (ACCEPT, DROP)' }),
    packets: Type.Integer({ description: 'Packets the policy decided in the window' }),
    bytes: Type.Integer(),
    resets: Type.Optional(Type.Integer()),
  },
  { $id: 'PolicyCount' },
);

export const ChainCountSchema = Type.Object(
  {
    table: Type.String(),
    chain: Type.String(),
    rules: Type.Integer({ description: 'Its rules that counted packets in the window' }),
    packets: Type.Integer({ description: 'Packets its rules counted (the policy\'s are in `policies`)' }),
    bytes: Type.Integer(),
  },
  { $id: 'ChainCount' },
);

export const CounterWindowSchema = Type.Object(
  {
    node: Type.String(),
    family: ref(FamilySchema),
    window: Type.Object({
      from: Type.Union([ref(CounterUploadRefSchema), Type.Null()], { description: 'The upload the window starts after; null when `to` is the oldest upload kept' }),
      to: ref(CounterUploadRefSchema),
      uploads: Type.Integer({ description: 'Uploads in the window (after `from`, up to `to`)' }),
      complete: Type.Boolean({ description: 'False when `since` reaches back further than the history kept (COUNTER_HISTORY uploads): the window starts at the oldest one' }),
      uncompared: Type.Integer({ description: 'Uploads in the window with nothing to compare with (first upload kept, or no counters before or then): what they counted is not known' }),
    }),
    rules: Type.Array(ref(RuleCountSchema), { description: 'Rules that counted packets, most packets first' }),
    rulesMoved: Type.Integer({ description: 'All rules that counted packets (`rules` is one page of them)' }),
    policies: Type.Array(ref(PolicyCountSchema), { description: 'Every built-in chain\'s policy counter' }),
    chains: Type.Array(ref(ChainCountSchema), { description: 'Per chain, what its rules counted, most packets first' }),
    resets: Type.Integer({ description: 'Counters that went down in the window (a rule replaced, a chain flushed, the host restarted)' }),
  },
  { $id: 'CounterWindow' },
);
export type CounterWindowJson = Static<typeof CounterWindowSchema>;

export const CounterUploadListSchema = Type.Object(
  {
    node: Type.String(),
    family: ref(FamilySchema),
    items: Type.Array(
      Type.Object({
        upload: Type.Integer(),
        dump: Type.Integer(),
        uploadedAt: DateTimeSchema,
        compared: Type.Boolean({ description: 'False: nothing to compare with (it only opens the next window)' }),
        moved: Type.Integer({ description: 'Counters (rules and policies) that moved since the upload before' }),
        resets: Type.Integer(),
        packets: Type.Integer({ description: 'Packets the rules counted since the upload before' }),
        bytes: Type.Integer(),
      }),
    ),
  },
  { $id: 'CounterUploadList' },
);

export const CounterUploadsQuerySchema = Type.Object({
  family: Type.Optional(ref(FamilySchema)),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 100, description: 'Uploads listed at most, newest first' })),
});

export const COUNTER_SCHEMAS = [CounterUploadRefSchema, RuleCountSchema, PolicyCountSchema, ChainCountSchema, CounterWindowSchema, CounterUploadListSchema] as const;
