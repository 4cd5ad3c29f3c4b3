import { describe, expect, it } from 'vitest';
import { argsFromForm, diffRows, errorsOutside, errorUnder, formatValue, paramRows, placeholders } from './forms';

describe('paramRows', () => {
  it('reads types, required, bounds, enums and defaults in the written order', () => {
    const rows = paramRows({
      type: 'object',
      properties: {
        city: { type: 'string', description: 'The city', minLength: 1, maxLength: 80 },
        units: { enum: ['metric', 'imperial'], default: 'metric' },
        days: { type: 'integer', minimum: 1, maximum: 14 },
        tags: { type: 'array', items: { type: 'string' } },
        flag: { type: ['boolean', 'null'] },
      },
      required: ['city', 'days'],
    });
    expect(rows.map((r) => [r.name, r.type, r.required, r.input])).toEqual([
      ['city', 'string', true, 'string'],
      ['units', 'choice', false, 'string'],
      ['days', 'integer', true, 'integer'],
      ['tags', 'list of string', false, 'json'],
      ['flag', 'boolean or null', false, 'boolean'],
    ]);
    expect(rows[0]?.details).toEqual(['1 to 80 characters']);
    expect(rows[0]?.description).toBe('The city');
    expect(rows[1]?.details).toEqual(['one of: metric, imperial', 'default "metric"']);
    expect(rows[2]?.details).toEqual(['1 to 14']);
  });
  it('is empty for what is not an object schema', () => {
    expect(paramRows(null)).toEqual([]);
    expect(paramRows({ type: 'object' })).toEqual([]);
  });
});

describe('placeholders', () => {
  it('finds crewAI {slots} once each, not {{literal}} text', () => {
    expect(placeholders('{"city": {city}, "days": {days}}')).toEqual(['city', 'days']);
    expect(placeholders('{{a}} {b}} {{c}')).toEqual(['b', 'c']);
    expect(placeholders('Find {topic} news in {year}; {topic} again; {{not_me}} or {1x} or { spaced }')).toEqual([
      'topic',
      'year',
    ]);
  });
});

describe('diffRows and formatValue', () => {
  it('merges the three lists into rows sorted by path', () => {
    const rows = diffRows({
      added: [{ path: 'metadata.team', value: 'a' }],
      removed: [{ path: 'max_rpm', value: 10 }],
      changed: [{ path: 'goal', from: 'x', to: 'y' }],
    });
    expect(rows).toEqual([
      { path: 'goal', kind: 'changed', from: 'x', to: 'y' },
      { path: 'max_rpm', kind: 'removed', from: 10, to: undefined },
      { path: 'metadata.team', kind: 'added', from: undefined, to: 'a' },
    ]);
  });
  it('shows text as it is, null as none, ids by name', () => {
    expect(formatValue('hello')).toBe('hello');
    expect(formatValue(null)).toBe('(none)');
    expect(formatValue(undefined)).toBe('(absent)');
    expect(formatValue(3)).toBe('3');
    expect(formatValue(['t1', 't2'], { t1: 'calculator' })).toBe('calculator, t2');
    expect(formatValue([], {})).toBe('(empty list)');
    expect(formatValue('m1', { m1: 'fake gpt' })).toBe('fake gpt');
  });
});

describe('argsFromForm', () => {
  const rows = paramRows({
    type: 'object',
    properties: { city: { type: 'string' }, days: { type: 'integer' }, hot: { type: 'boolean' }, doc: { type: 'object' } },
    required: ['city'],
  });
  it('converts by kind and leaves out empty fields', () => {
    expect(argsFromForm(rows, { city: 'Oslo', days: '3', hot: 'true', doc: '{"a":1}' })).toEqual({
      args: { city: 'Oslo', days: 3, hot: true, doc: { a: 1 } },
      errors: {},
    });
    expect(argsFromForm(rows, { city: ' ', days: '' })).toEqual({ args: {}, errors: {} });
  });
  it('names the argument whose text does not convert', () => {
    const { errors } = argsFromForm(rows, { city: 'x', days: '2.5', doc: '{oops' });
    expect(Object.keys(errors).sort()).toEqual(['arguments.days', 'arguments.doc']);
  });
});

describe('errorUnder', () => {
  it('finds the field or the first error below it', () => {
    expect(errorUnder({ 'tool_ids[1]': 'no such tool' }, 'tool_ids')).toBe('tool_ids[1]: no such tool');
    expect(errorUnder({ name: 'too long' }, 'name')).toBe('too long');
    expect(errorUnder({ names: 'x' }, 'name')).toBeUndefined();
    expect(errorUnder({ 'parameters.properties.d.minimum': 'not a number' }, 'parameters')).toMatch(/^parameters\.properties/);
  });
});

describe('errorsOutside', () => {
  it('keeps the errors no form field shows', () => {
    const errs = { name: 'x', 'tool_ids[0]': 'y', 'workflows[0]': 'Crew (id)', base_version: 'stale' };
    expect(errorsOutside(errs, ['name', 'tool_ids'])).toEqual([['workflows[0]', 'Crew (id)']]);
  });
});
