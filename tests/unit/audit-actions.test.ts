import { describe, expect, it } from 'vitest';
import { auditActionOf } from '../../server/security/audit-actions';

describe('audit action names of refused tRPC calls', () => {
  it('names a refused decision as the service names a decision', () => {
    expect(auditActionOf('approvals.decide', { json: { runId: 'r', gateId: 'g', decision: 'approve' } })).toBe('gate.approve');
    expect(auditActionOf('approvals.decide', { 0: { json: { decision: 'reject' } } })).toBe('gate.reject');
    expect(auditActionOf('approvals.decide', 'not json')).toBe('gate.decide');
  });
  it('maps procedures to the services’ action names, and keeps unknown paths', () => {
    expect(auditActionOf('pipelines.create')).toBe('pipeline.create');
    expect(auditActionOf('runs.cancel,pipelines.delete')).toBe('run.cancel,pipeline.delete');
    expect(auditActionOf('something.else')).toBe('something.else');
    expect(auditActionOf('')).toBe('trpc');
  });
});
