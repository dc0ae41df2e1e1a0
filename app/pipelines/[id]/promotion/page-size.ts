/** Builds the board shows at first (newest first); all of them count for what is live and eligible. */
export const PAGE = 50;
