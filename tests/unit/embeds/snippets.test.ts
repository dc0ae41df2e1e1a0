import { describe, expect, it } from 'vitest';
import { shareSnippets } from '../../../server/embeds/snippets';

const urls = {
  embed: 'https://pw.example.com/embed/pipelines/p1?token=pwe_x',
  share: 'https://pw.example.com/share/pipelines/p1?token=pwe_x',
  badge: 'https://pw.example.com/api/badge/p1.svg?token=pwe_x',
  diagram: 'https://pw.example.com/api/diagram/p1.svg?token=pwe_x',
  oembed: 'https://pw.example.com/api/oembed?url=x',
};

describe('share snippets', () => {
  const name = `Deploy "prod" <script>alert(1)</script> [x](y)`;

  it('offers the link, an iframe, auto-height HTML, Markdown images and an HTML badge for view links', () => {
    const s = shareSnippets(name, 'view', urls);
    expect(s.map((x) => x.id)).toEqual(['share', 'iframe', 'html', 'markdown', 'badge-html']);
    const iframe = s.find((x) => x.id === 'iframe')!.text;
    expect(iframe).toContain('sandbox="allow-scripts"');
    expect(iframe).toContain(`src="${urls.embed}"`);
    expect(iframe).toContain('title="Deploy &quot;prod&quot; &lt;script&gt;alert(1)&lt;/script&gt; [x](y) (Pipewright)"');
    expect(s.find((x) => x.id === 'html')!.text).toContain("d.type!=='pipewright:embed:resize'");
    const md = s.find((x) => x.id === 'markdown')!.text;
    expect(md).toContain(`(${urls.badge})`);
    expect(md).toContain(`(${urls.diagram})`);
    expect(md).toContain('\\[x\\](y)'); // brackets in the name cannot end the alt text
  });

  it('offers only the badge for badge links', () => {
    const s = shareSnippets(name, 'badge', urls);
    expect(s.map((x) => x.id)).toEqual(['badge-md', 'badge-html']);
    expect(s.every((x) => !x.text.includes(urls.embed) && !x.text.includes(urls.share))).toBe(true);
  });
});
