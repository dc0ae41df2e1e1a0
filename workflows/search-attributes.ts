/**
 * Custom search attributes of pipeline runs, so operators can find runs in the
 * Temporal UI and CLI (`PipewrightStatus="waiting"`). Pure: used by the
 * interpreter (upserts) and by the start-up code (registration).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SA_STATUS = defineSearchAttributeKey('PipewrightStatus', SearchAttributeType.KEYWORD);
export const SA_PENDING_GATES = defineSearchAttributeKey('PipewrightPendingGates', SearchAttributeType.KEYWORD_LIST);
export const SA_PIPELINE_ID = defineSearchAttributeKey('PipewrightPipelineId', SearchAttributeType.KEYWORD);

/** Everything to register on a namespace at start-up. */
export const SEARCH_ATTRIBUTES = [SA_STATUS, SA_PENDING_GATES, SA_PIPELINE_ID] as const;
