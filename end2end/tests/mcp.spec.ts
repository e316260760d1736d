import { expect, test } from '@playwright/test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

// An AI agent reads the book through BookChat's MCP server with the official TypeScript SDK's
// client, as Claude Desktop, Cursor or an agent framework would: initialise, list the tools,
// search, read what it found — and the link it got opens the book at that passage.

async function connect(baseURL: string) {
  const client = new Client({ name: 'bookchat-e2e-agent', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', baseURL)));
  return client;
}

type Section = { page: string; section: string; link: string; snippet: string };

test('an MCP client initialises, lists the tools, searches the book and reads the section it found', async ({ baseURL, page }) => {
  const client = await connect(baseURL!);
  expect(client.getServerVersion()?.name).toBe('bookchat');
  expect(client.getServerCapabilities()?.tools).toBeTruthy();
  expect(client.getInstructions()).toContain('search_book');

  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name).sort()).toEqual(['read_section', 'search_book']);
  const search = tools.find((t) => t.name === 'search_book')!;
  expect(search.inputSchema.required).toEqual(['query']);
  expect(Object.keys(search.inputSchema.properties ?? {})).toEqual(expect.arrayContaining(['query', 'chapter', 'limit']));
  expect(search.annotations?.readOnlyHint).toBe(true);

  const found = await client.callTool({ name: 'search_book', arguments: { query: 'What is the zero moment point?', limit: 3 } });
  expect(found.isError).toBeFalsy();
  const { covered, sections } = found.structuredContent as { covered: boolean; sections: Section[] };
  expect(covered).toBe(true);
  expect(sections.length).toBeGreaterThan(0);
  expect(sections.length).toBeLessThanOrEqual(3);
  const top = sections[0];
  expect(top.snippet.length).toBeGreaterThan(20);

  // The link opens the book's page at that section, with the matching sentence as the fragment.
  const m = top.link.match(/^([^#]*)#([^:]+):~:text=([^&#]+)$/);
  expect(m, top.link).not.toBeNull();
  const [, pageUrl, anchor, directive] = m!;
  await page.goto(pageUrl);
  const heading = page.locator(`[id="${anchor}"]`);
  await expect(heading).toContainText(top.section);
  const start = decodeURIComponent(directive.split(',')[0]);
  await expect(page.locator('main')).toContainText(start);

  // read_section gives that section's Markdown, under its heading.
  const read = await client.callTool({ name: 'read_section', arguments: { link: top.link } });
  expect(read.isError).toBeFalsy();
  const md = (read.content as { type: string; text: string }[])[0].text;
  expect(md.startsWith(`## ${top.section}\n`)).toBe(true);
  expect(md).toContain(top.link.split(':~:')[0]);

  // A link that is not the book's: a tool error the agent can read, not a protocol failure.
  const wrong = await client.callTool({ name: 'read_section', arguments: { link: 'nodes' } });
  expect(wrong.isError).toBe(true);
  expect((wrong.content as { text: string }[])[0].text).toContain('not a link to a page of this book');
  await client.close();
});

test('llms.txt lists the pages an agent can read, and each link resolves', async ({ request, baseURL }) => {
  const res = await request.get('/llms.txt');
  expect(res.ok()).toBe(true);
  const txt = await res.text();
  expect(txt.startsWith('# ')).toBe(true);
  const links = [...txt.matchAll(/^- \[([^\]]+)\]\(([^)]+)\)/gm)].map((m) => ({ title: m[1], url: m[2] }));
  expect(links.length).toBeGreaterThan(3);
  for (const l of links.slice(0, 3)) {
    expect(l.url.startsWith(baseURL!)).toBe(true);
    const page = await request.get(l.url);
    expect(page.ok(), l.url).toBe(true);
    expect(await page.text()).toContain(l.title);
  }
  const full = await (await request.get('/llms-full.txt')).text();
  for (const l of links) expect(full).toContain(`Source: ${l.url}`);
});
