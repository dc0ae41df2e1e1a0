import { describe, expect, it } from 'vitest';
import { fourEyesRule } from '../../app/lib/four-eyes';

describe('the four-eyes rule as shown on a gate', () => {
  it('never lets the starter or promotion requester approve a gate of a protected environment, whatever the gate says', () => {
    const rule = fourEyesRule(true, 'production');
    expect(rule.starterMayApprove).toBe(false);
    expect(rule.text).toMatch(/requested the promotion may not approve it — environment "production" requires someone else's approval/);
  });

  it('says what the gate says elsewhere', () => {
    expect(fourEyesRule(false, null)).toMatchObject({ starterMayApprove: false, text: expect.stringMatching(/^Four eyes/) });
    expect(fourEyesRule(true, null)).toMatchObject({ starterMayApprove: true, text: 'The person who started the run may approve it too.' });
  });
});
