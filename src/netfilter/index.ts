export * from './model.ts';
export { parseDump, detectFormat, detectFamily, type ParseOptions, type ParseResult } from './parse.ts';
export { renderRuleset, renderRule, renderRuleSpec, renderMatches, renderTarget, type RenderOptions } from './render.ts';
export { tokenizeLine, quoteArg } from './lexer.ts';
export * from "./json.ts";
