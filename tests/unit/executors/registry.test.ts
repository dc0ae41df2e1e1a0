import { describe, expect, it } from 'vitest';
import { EXECUTORS, getExecutor } from '@/workflows/stages/executors';
import { STAGE_DEFINITIONS, getStageDefinition } from '@/workflows/stages/registry';

describe('executor registry', () => {
  it('has an executor, with the definition schema, for exactly the activity kinds', () => {
    const activityKinds = STAGE_DEFINITIONS.filter((d) => d.runtime === 'activity').map((d) => d.kind).sort();
    expect(Object.keys(EXECUTORS).sort()).toEqual(activityKinds);
    for (const [kind, entry] of Object.entries(EXECUTORS)) {
      expect(entry.schema).toBe(getStageDefinition(kind)?.configSchema);
      expect(typeof entry.execute).toBe('function');
    }
  });

  it('answers undefined for kinds without an executor', () => {
    expect(getExecutor('command')).toBe(EXECUTORS.command);
    expect(getExecutor('approval')).toBeUndefined();
    expect(getExecutor('toString')).toBeUndefined();
  });
});
