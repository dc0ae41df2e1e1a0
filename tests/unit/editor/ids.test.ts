import { describe, expect, it } from 'vitest';
import { remapOutputRefs } from '@/app/editor/clipboard';
import { idForName, idReferences } from '@/app/editor/ids';

const nodes = [
  { id: 'command-2', config: { command: 'make' } },
  { id: 'notify', config: { url: 'https://x.example/${{ stages.command-2.outputs.url }}' } },
  { id: 'smoke', config: { command: 'curl "$PW_OUTPUT_command_2_url"' } },
  { id: 'other', config: { command: 'true' } },
];

describe('stage ids follow names until referenced', () => {
  it('suggests the id the name gives, unique among the other stages', () => {
    expect(idForName('Deploy', 'command-2', nodes.map((n) => n.id))).toBe('deploy');
    expect(idForName('Notify', 'command-2', nodes.map((n) => n.id))).toBe('notify-2');
    expect(idForName('Other', 'other', nodes.map((n) => n.id))).toBe('other');
  });

  it('counts the stages that refer to an id by template or output variable, as a rename would change them', () => {
    expect(idReferences(nodes, 'command-2', remapOutputRefs)).toBe(2);
    expect(idReferences(nodes, 'other', remapOutputRefs)).toBe(0);
  });
});
