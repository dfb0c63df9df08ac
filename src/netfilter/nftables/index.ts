// The nftables rule language: model, parsers, priorities.
export * from './model.ts';
export { parseNftJson } from './json.ts';
export { resolvePriority, standardPriority, priorityText } from './priority.ts';
