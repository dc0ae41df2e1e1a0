/**
 * What changed in a pipeline's written release-plan sections between two of its versions (pure, unit-tested),
 * for the editor's version compare: the sections are versioned with the pipeline, so comparing version A with
 * version B also compares the texts as they stood for A and for B.
 *
 * 1. A section's text for version V is its newest edit written for V or an earlier version (an edit is stored
 *    against the pipeline's newest version when it is written, and holds until a later edit), as the release plan
 *    of V reads it (release-plans.ts, `getReleasePlan`).
 * 2. Each section that differs is `added` (no text for A), `removed` (no text for B) or `changed`, with the
 *    line-by-line difference (jsdiff's `diffLines`) and who wrote each side and when.
 */
import { diffLines } from 'diff';
import { WRITTEN_SECTIONS } from './release-plan';

/** One stored edit of a written section. */
export type SectionEdit = { id: number; section: string; version: number; body: string; by: string; at: number };

/** A section's text as it stood for one version, and who wrote it when (nulls: never written for it). */
export type SectionSide = { body: string; version: number | null; by: string | null; at: number | null };

export type SectionLine = { op: 'added' | 'removed' | 'same'; text: string };

export type SectionChange = {
  key: string;
  title: string;
  status: 'added' | 'removed' | 'changed';
  before: SectionSide;
  after: SectionSide;
  lines: SectionLine[];
};

const NONE: SectionSide = { body: '', version: null, by: null, at: null };

/** The text of `section` for `version`: its newest edit written for that version or before. */
export function sectionAt(edits: readonly SectionEdit[], section: string, version: number): SectionSide {
  let best: SectionEdit | undefined;
  for (const e of edits) if (e.section === section && e.version <= version && (!best || e.id > best.id)) best = e;
  return best ? { body: best.body, version: best.version, by: best.by, at: best.at } : NONE;
}

/** Lines removed and added between two texts (unchanged lines kept for context). */
export function lineChanges(before: string, after: string): SectionLine[] {
  const out: SectionLine[] = [];
  for (const part of diffLines(before, after)) {
    if (!part.value) continue;
    const op = part.added ? 'added' : part.removed ? 'removed' : 'same';
    const lines = part.value.replace(/\n$/, '').split('\n');
    for (const text of lines) out.push({ op, text });
  }
  return out;
}

/** The written sections whose text differs between version `from` and version `to`, in the plan's order. */
export function compareWrittenSections(edits: readonly SectionEdit[], from: number, to: number): SectionChange[] {
  const changes: SectionChange[] = [];
  for (const s of WRITTEN_SECTIONS) {
    const before = sectionAt(edits, s.key, from);
    const after = sectionAt(edits, s.key, to);
    const a = before.body.trim();
    const b = after.body.trim();
    if (a === b) continue;
    const status = !a ? 'added' : !b ? 'removed' : 'changed';
    changes.push({ key: s.key, title: s.title, status, before, after, lines: lineChanges(before.body.trimEnd(), after.body.trimEnd()) });
  }
  return changes;
}
