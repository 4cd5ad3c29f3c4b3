import { describe, expect, it } from 'vitest';
import { fieldErrors, problemText } from './problem';

describe('fieldErrors', () => {
  it('keys the errors by form field, first message winning', () => {
    const got = fieldErrors({
      errors: [
        { field: 'body.name', message: 'is required' },
        { field: '/params/temperature', message: 'at most 2' },
        { field: 'model', message: 'too long' },
        { field: 'name', message: 'second' },
      ],
    });
    expect(got).toEqual({ name: 'is required', 'params.temperature': 'at most 2', model: 'too long' });
  });
  it('is empty without a problem', () => {
    expect(fieldErrors(null)).toEqual({});
    expect(fieldErrors({ detail: 'x' })).toEqual({});
  });
});

describe('problemText', () => {
  it('joins the detail and the hint', () => {
    expect(problemText({ detail: 'invalid body', hint: 'see errors' })).toBe('invalid body. see errors');
    expect(problemText({ title: 'Not Found' })).toBe('Not Found');
  });
});
