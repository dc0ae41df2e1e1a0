/**
 * What the Share dialog offers to copy for a new link: the share page, an
 * iframe, an iframe that follows the embed's height, and Markdown/HTML images.
 * Pure (the dialog runs it in the browser); names are escaped for HTML and
 * Markdown.
 */
import { escapeHtml } from './escape';

export type ShareUrls = { embed: string; share: string; badge: string; diagram: string; oembed: string };
export type Snippet = { id: string; label: string; hint: string; text: string };

/** Markdown link text / alt text: brackets and backslashes escaped, one line. */
function mdText(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').replace(/([\\[\]])/g, '\\$1');
}

/** Resizes every frame of a Pipewright embed to the height it reports (for pages that allow a script). */
const RESIZER =
  "<script>addEventListener('message',function(e){var d=e.data;if(!d||d.type!=='pipewright:embed:resize')return;var f=document.getElementsByTagName('iframe');for(var i=0;i<f.length;i++)if(f[i].contentWindow===e.source)f[i].style.height=Math.min(d.height,4000)+'px'})</script>";

export function shareSnippets(name: string, scope: 'view' | 'badge', urls: ShareUrls): Snippet[] {
  const title = escapeHtml(`${name} (Pipewright)`);
  const alt = escapeHtml(`${name}: status`);
  const badgeMd = `![${mdText(`${name}: status`)}](${urls.badge})`;
  const badgeHtml = `<img src="${escapeHtml(urls.badge)}" alt="${alt}">`;
  if (scope === 'badge') {
    return [
      { id: 'badge-md', label: 'Markdown badge', hint: 'For READMEs (GitHub, GitLab).', text: badgeMd },
      { id: 'badge-html', label: 'HTML badge', hint: 'For pages that take HTML.', text: badgeHtml },
    ];
  }
  const iframe = `<iframe src="${escapeHtml(urls.embed)}" width="100%" height="360" style="border:0" sandbox="allow-scripts" loading="lazy" referrerpolicy="no-referrer" title="${title}"></iframe>`;
  return [
    { id: 'share', label: 'Link', hint: 'Paste into Notion, Confluence or any wiki that understands oEmbed; or open it in a browser.', text: urls.share },
    { id: 'iframe', label: 'Iframe', hint: 'For wikis that take an iframe (MediaWiki widgets, Backstage, plain pages).', text: iframe },
    { id: 'html', label: 'HTML with auto-height', hint: 'The iframe plus a small script that sizes it to the graph.', text: `${iframe}\n${RESIZER}` },
    { id: 'markdown', label: 'Markdown images', hint: 'For READMEs: the status badge and the diagram, linking to the live view.', text: `[${badgeMd}](${urls.share})\n\n[![${mdText(name)}](${urls.diagram})](${urls.share})` },
    { id: 'badge-html', label: 'HTML badge', hint: 'The status badge as an image.', text: `<a href="${escapeHtml(urls.share)}">${badgeHtml}</a>` },
  ];
}
