/**
 * The four-eyes rule of an approval gate, in words, wherever a gate is shown (editor inspector, run page,
 * approvals inbox): whether the person who started the run — for a promotion, the person who requested it —
 * may approve it. A gate bound to an environment that requires an approval gate never lets them, whatever
 * the gate's own setting says (the approvals service enforces it; this only says it).
 */
export type FourEyes = { starterMayApprove: boolean; text: string };

export function fourEyesRule(allowTriggerer: boolean, protectedEnvironment: string | null | undefined): FourEyes {
  if (protectedEnvironment) {
    return {
      starterMayApprove: false,
      text: `Four eyes: the person who started the run or requested the promotion may not approve it — environment "${protectedEnvironment}" requires someone else's approval.`,
    };
  }
  return allowTriggerer
    ? { starterMayApprove: true, text: 'The person who started the run may approve it too.' }
    : { starterMayApprove: false, text: 'Four eyes: the person who started the run or requested the promotion may not approve it.' };
}
