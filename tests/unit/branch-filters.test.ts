import { describe, expect, it } from 'vitest';
import { branchMatches, globMatches, refNameProblem } from '@/server/triggers/webhook';

describe('branch filters', () => {
  it.each([
    ['main', 'main', true],
    ['main', 'mainline', false],
    ['release/*', 'release/1.2', true],
    ['release/*', 'release/1.2/hotfix', false],
    ['release/**', 'release/1.2/hotfix', true],
    ['**/fix-*', 'team/a/fix-login', true],
    ['**/fix-*', 'team/a/fix-login/x', false],
    ['feat.*', 'featx1', false],
    ['*', '', true],
    ['a*b*c', 'a/b/c', false],
    ['a**c', 'a/b/c', true],
    ['(x)+$', '(x)+$', true],
  ])('%s against %s: %s', (pattern, branch, expected) => {
    expect(globMatches(pattern, branch)).toBe(expected);
  });

  it('an empty list matches every branch', () => {
    expect(branchMatches('anything', [])).toBe(true);
    expect(branchMatches('main', ['dev', 'ma*'])).toBe(true);
  });

  it('a hostile pattern on a long branch takes about as long as a benign one of the same size', () => {
    const branch = 'a'.repeat(10_000);
    // As a regular expression (`.*a.*a.*a…b`) this backtracks exponentially.
    const hostile = '**a'.repeat(66) + 'b';
    // A plausible suffix filter of the same length, matched over the same branch.
    const benign = '**' + 'a'.repeat(hostile.length - 2);
    const timeOf = (pattern: string) => {
      let best = Infinity;
      for (let i = 0; i < 5; i++) {
        const start = performance.now();
        globMatches(pattern, branch);
        best = Math.min(best, performance.now() - start);
      }
      return best;
    };
    expect(globMatches(hostile, branch)).toBe(false);
    expect(globMatches(benign, branch)).toBe(true);
    const baseline = timeOf(benign);
    expect(timeOf(hostile)).toBeLessThan(baseline * 5 + 1);
  });
});

describe('Git ref names (git check-ref-format --branch)', () => {
  it.each(['main', 'feature/login', 'release-1.2', 'probe-$(id${IFS}-u)', 'a`b`', "it's", 'ünïcode', 'x@y', 'a.b/c_d'])('accepts %s', (name) => {
    expect(refNameProblem(name)).toBeNull();
  });

  it.each([
    ['', 'empty'],
    ['has space', 'spaces'],
    ['a..b', '".."'],
    ['a~1', '"~"'],
    ['a^', '"^"'],
    ['a:b', '":"'],
    ['a?', '"?"'],
    ['a*', '"*"'],
    ['a[b', '"["'],
    ['a\\b', '"\\"'],
    ['a\u0001b', 'control'],
    ['a\nb', 'control'],
    ['/a', '"/"'],
    ['a/', '"/"'],
    ['a//b', '"//"'],
    ['a.', '"."'],
    ['.hidden', '"."'],
    ['x/.hidden', '"."'],
    ['x.lock', '.lock'],
    ['x.lock/y', '.lock'],
    ['a@{1}', '"@{"'],
    ['@', '"@"'],
    ['-rf', '"-"'],
    ['x'.repeat(1025), 'longer'],
  ])('refuses %j (%s)', (name, reason) => {
    expect(refNameProblem(name)).toContain(reason);
  });
});
