// nftables: model, text parser and printer (the JSON parser lives beside them in json.ts).
export * from './model.ts';
export { resolvePriority, standardPriority, priorityText } from './priority.ts';
export { parseNftText } from './syntax/parse.ts';
export { printNftRuleset, type PrintOptions } from './printer.ts';
