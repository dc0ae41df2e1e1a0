/**
 * Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device
 * Cookies"): after a successful password sign-in the browser gets
 * `pipewright.device = <device id>.<user id>.<HMAC>`, signed with the auth
 * secret. A later sign-in attempt from that browser *as the same person* is
 * throttled on its own (server/auth/rate-limit.ts), so a stranger's wrong
 * guesses against that person never lock their own browser out.
 *
 * 1. The cookie proves only "this browser signed in as this user before"; it
 *    grants nothing else (the session cookie does that) and is sent only to
 *    `/api/auth`, HttpOnly, SameSite=Lax, for 180 days.
 * 2. It is bound to the user id, so a cookie of one account buys nothing when
 *    guessing another's password.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const DEVICE_COOKIE = 'pipewright.device';
const MAX_AGE_S = 180 * 24 * 3600;

function mac(secret: string, deviceId: string, userId: string): string {
  return createHmac('sha256', secret).update(`pipewright-device\n${deviceId}\n${userId}`).digest('base64url');
}

/** The cookie's name for an app served over https (`__Secure-` prefix) or not. */
export function deviceCookieName(secure: boolean): string {
  return secure ? `__Secure-${DEVICE_COOKIE}` : DEVICE_COOKIE;
}

/** A fresh `Set-Cookie` value for a browser that just signed in as `userId`. */
export function issueDeviceCookie(secret: string, userId: string, secure: boolean): string {
  const deviceId = randomBytes(16).toString('base64url');
  const value = `${deviceId}.${userId}.${mac(secret, deviceId, userId)}`;
  return `${deviceCookieName(secure)}=${value}; Path=/api/auth; Max-Age=${MAX_AGE_S}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}

/** The device id when the request carries a valid device cookie for `userId`, else null. */
export function deviceFor(headers: Headers, secret: string, userId: string | null, secure: boolean): string | null {
  if (!userId) return null;
  const name = deviceCookieName(secure);
  const cookie = headers.get('cookie') ?? '';
  for (const part of cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    const first = value.indexOf('.');
    const last = value.lastIndexOf('.');
    const [deviceId, forUser, sig] = [value.slice(0, first), value.slice(first + 1, last), value.slice(last + 1)];
    if (first <= 0 || last <= first || !sig || forUser !== userId) continue;
    const want = Buffer.from(mac(secret, deviceId, userId));
    const got = Buffer.from(sig);
    if (want.length === got.length && timingSafeEqual(want, got)) return deviceId;
  }
  return null;
}
