import { describe, expect, it } from 'vitest';
import { cronProblem, cronSchema } from '../../server/triggers/config';

describe('cron expressions (the schedule form and the server check them the same way)', () => {
  it.each([
    ['61 * * * *', 'minute 61 is out of range (0–59)'],
    ['* 25 * * *', 'hour 25 is out of range (0–23)'],
    ['*/0 * * * *', 'minute step must be at least 1'],
    ['0 0 0 * *', 'day of month 0 is out of range (1–31)'],
    ['0 0 * 13 *', 'month 13 is out of range (1–12)'],
    ['0 0 * * 8', 'day of week 8 is out of range (0–7)'],
    ['5-1 * * * *', 'minute range 5-1 goes backwards'],
    ['1,,2 * * * *', 'minute has an empty list item'],
    ['x * * * *', 'minute "x" is not a number'],
    ['0 3 * * * 1900', 'year 1900 is out of range (1970–2999)'],
    ['every night', 'use 5 fields (minute hour day-of-month month day-of-week), a shorthand like @daily, or @every 15m'],
    ['@every soon', 'write @every with a number and a unit, e.g. @every 15m'],
  ])('refuses %s: %s', (cron, problem) => {
    expect(cronProblem(cron)).toBe(problem);
    const parsed = cronSchema.safeParse(cron);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toBe(problem);
  });

  it.each(['0 3 * * *', '*/15 9-17 * * MON-FRI', '0 0 1 JAN,JUL *', '0 12 ? * 1', '0 0 * * 7', '0 3 * * * 2030', '30 0 3 * * * *', '@daily', '@every 30m', ' 0 3 * * * '])(
    'accepts %s',
    (cron) => {
      expect(cronProblem(cron)).toBeUndefined();
      expect(cronSchema.safeParse(cron).success).toBe(true);
    },
  );
});
