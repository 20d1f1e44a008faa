import { redactUrls } from '../../src/config';

describe('redactUrls', () => {
  test.each([
    ['http://admin:s3cret@auth:8000', 'http://admin:***@auth:8000'],
    ['got "http://admin:s3cret@auth :8000"', 'got "http://admin:***@auth :8000"'],
    ['https://tok3n@auth.internal/x', 'https://***@auth.internal/x'],
    ['http://a:b@one and http://c:d@two', 'http://a:***@one and http://c:***@two'],
    ['http://auth:8000/validate', 'http://auth:8000/validate'],
    ['mail me@example.com', 'mail me@example.com'],
    ['http://auth:8000/p?u=a@b', 'http://auth:8000/p?u=a@b'],
  ])('%j -> %j', (input, expected) => {
    expect(redactUrls(input)).toBe(expected);
  });
});
