// The nftables rule language: model, parsers (JSON and text), printer, priorities.
export * from './model.ts';
export { parseNftJson, parseNftJsonSteps } from './json.ts';
export { parseNftText, parseNftTextSteps, type NftParseOptions } from './syntax/parse.ts';
export { nftDonor, type NftDonor } from './share.ts';
export { printNftRuleset, printNftRulesetSteps, type PrintOptions } from './printer.ts';
export { resolvePriority, standardPriority, priorityText } from './priority.ts';
