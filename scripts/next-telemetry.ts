/**
 * Next.js collects anonymous usage data unless NEXT_TELEMETRY_DISABLED is set.
 * A self-hosted delivery tool should not phone home by default, so `npm start`
 * and `npm run dev` give `next build`/`next start`/`next dev` that variable.
 * Opt in with `PIPEWRIGHT_NEXT_TELEMETRY=true` (then Next's own setting,
 * `npx next telemetry status`, decides).
 */
export function nextTelemetryEnv(from: Readonly<Record<string, string | undefined>>): { NEXT_TELEMETRY_DISABLED?: string } {
  if (from.PIPEWRIGHT_NEXT_TELEMETRY === 'true') return { NEXT_TELEMETRY_DISABLED: undefined };
  return { NEXT_TELEMETRY_DISABLED: '1' };
}
