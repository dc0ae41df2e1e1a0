/**
 * The written release-plan sections in the version compare: a section's text for a version is its newest edit
 * written for that version or before; comparing two versions lists the sections added, removed or changed, in
 * the plan's order, line by line, with who wrote each side — in either direction, and nothing when equal.
 */
import { describe, expect, it } from 'vitest';
import { compareWrittenSections, lineChanges, sectionAt, type SectionEdit } from '@/server/services/insights/section-changes';

let id = 0;
const edit = (section: string, version: number, body: string, by = 'Ada'): SectionEdit => ({ id: ++id, section, version, body, by, at: 1_700_000_000_000 + id });

const edits: SectionEdit[] = [
  edit('monitoring', 1, 'Watch the dashboard.\nPage on-call on errors.'),
  edit('monitoring', 1, 'Watch the checkout dashboard.\nPage on-call on errors.', 'Grace'),
  edit('capacity', 1, 'Two replicas.'),
  edit('monitoring', 3, 'Watch the checkout dashboard for 30 minutes.\nPage on-call on errors.', 'Alan'),
  edit('support', 3, 'Team Payments, #payments on chat.'),
  edit('capacity', 3, ''),
];

describe('sectionAt', () => {
  it('reads the newest edit written for the version or an earlier one', () => {
    expect(sectionAt(edits, 'monitoring', 1)).toMatchObject({ body: 'Watch the checkout dashboard.\nPage on-call on errors.', version: 1, by: 'Grace' });
    expect(sectionAt(edits, 'monitoring', 2)).toMatchObject({ version: 1, by: 'Grace' });
    expect(sectionAt(edits, 'monitoring', 3)).toMatchObject({ version: 3, by: 'Alan' });
    expect(sectionAt(edits, 'support', 2)).toEqual({ body: '', version: null, by: null, at: null });
  });
});

describe('compareWrittenSections', () => {
  it('lists added, removed and changed sections in the plan order, with the changed lines', () => {
    const changes = compareWrittenSections(edits, 1, 3);
    expect(changes.map((c) => [c.key, c.status])).toEqual([
      ['monitoring', 'changed'],
      ['support', 'added'],
      ['capacity', 'removed'],
    ]);
    const monitoring = changes[0]!;
    expect(monitoring.before).toMatchObject({ by: 'Grace', version: 1 });
    expect(monitoring.after).toMatchObject({ by: 'Alan', version: 3 });
    expect(monitoring.lines).toEqual([
      { op: 'removed', text: 'Watch the checkout dashboard.' },
      { op: 'added', text: 'Watch the checkout dashboard for 30 minutes.' },
      { op: 'same', text: 'Page on-call on errors.' },
    ]);
    expect(changes[1]!.lines).toEqual([{ op: 'added', text: 'Team Payments, #payments on chat.' }]);
    expect(changes[2]!.lines).toEqual([{ op: 'removed', text: 'Two replicas.' }]);
  });

  it('compares the other way round too (newer version first)', () => {
    expect(compareWrittenSections(edits, 3, 1).map((c) => [c.key, c.status])).toEqual([
      ['monitoring', 'changed'],
      ['support', 'removed'],
      ['capacity', 'added'],
    ]);
  });

  it('lists nothing between versions whose texts are the same (trailing white space aside)', () => {
    expect(compareWrittenSections(edits, 1, 2)).toEqual([]);
    expect(compareWrittenSections([...edits, edit('support', 4, 'Team Payments, #payments on chat.\n\n')], 3, 4)).toEqual([]);
  });
});

describe('lineChanges', () => {
  it('keeps blank lines and marks each line once', () => {
    expect(lineChanges('a\n\nb', 'a\n\nc')).toEqual([
      { op: 'same', text: 'a' },
      { op: 'same', text: '' },
      { op: 'removed', text: 'b' },
      { op: 'added', text: 'c' },
    ]);
  });
});
