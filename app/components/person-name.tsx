/**
 * A person as decisions show them: the display name with the username beside
 * it. Display names are not unique (anybody could be called "Alan Turing"),
 * usernames are, so wherever a vote or decision is shown both appear, as
 * "Alan Turing (alan)" — the same form the server's messages use.
 */
export function PersonName({ name, username }: { name?: string | null; username: string }) {
  if (!name || name === username) return <span className="font-medium text-fg">{username}</span>;
  return (
    <span>
      <span className="font-medium text-fg">{name}</span> <span className="font-mono text-xs text-muted">({username})</span>
    </span>
  );
}
