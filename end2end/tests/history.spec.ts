import { expect, test } from '@playwright/test';
import * as fs from 'fs';
import { ask, openWidget } from './helpers';

test('two conversations: browse history, open, continue, rename, search, export, delete', async ({ page }) => {
  const frame = await openWidget(page);
  await ask(frame, 'How does DDS discovery work?');
  await expect(frame.getByTestId('conversation-title')).toHaveText('How does DDS discovery work?');

  // A second conversation.
  await frame.getByTestId('new-conversation').click();
  await expect(frame.getByTestId('empty-state')).toBeVisible();
  await ask(frame, 'What is domain randomisation?');

  // History lists both, newest first, under "Today".
  await frame.getByTestId('open-history').click();
  const items = frame.getByTestId('history-item');
  await expect(items).toHaveCount(2);
  await expect(items.nth(0)).toContainText('What is domain randomisation?');
  await expect(items.nth(1)).toContainText('How does DDS discovery work?');
  await expect(frame.getByTestId('history-group').first()).toHaveText('Today');

  // Open the first conversation and continue it.
  await items.nth(1).click();
  await expect(frame.getByTestId('conversation-title')).toHaveText('How does DDS discovery work?');
  await expect(frame.getByTestId('msg-user')).toHaveCount(1);
  await ask(frame, 'And what are QoS policies?');
  await expect(frame.getByTestId('msg-user')).toHaveCount(2);
  await expect(frame.getByTestId('msg-assistant').last()).toContainText('reliab');

  // Rename it.
  await frame.getByTestId('conversation-menu').click();
  await frame.getByTestId('rename').click();
  await frame.getByTestId('rename-input').fill('Middleware notes');
  await frame.getByTestId('rename-input').press('Enter');
  await expect(frame.getByTestId('conversation-title')).toHaveText('Middleware notes');

  // Search finds it by its new title and by a word from its messages.
  await frame.getByTestId('open-history').click();
  await frame.getByTestId('history-search').fill('middleware');
  await expect(frame.getByTestId('search-result').first()).toContainText('Middleware notes');
  await frame.getByTestId('history-search').fill('multicast');
  const hit = frame.getByTestId('search-result').first();
  await expect(hit).toContainText('Middleware notes');
  await expect(hit.locator('mark').first()).toHaveText(/multicast/i);
  await hit.click();
  await expect(frame.getByTestId('conversation-title')).toHaveText('Middleware notes');
  await expect(frame.locator('.bc-focused')).toContainText(/multicast/i);

  // Export as Markdown and JSON.
  await frame.getByTestId('conversation-menu').click();
  const [md] = await Promise.all([page.waitForEvent('download'), frame.getByTestId('export-md').click()]);
  expect(md.suggestedFilename()).toBe('middleware-notes.md');
  const mdText = fs.readFileSync((await md.path())!, 'utf8');
  expect(mdText).toContain('# Middleware notes');
  expect(mdText).toContain('How does DDS discovery work?');
  expect(mdText).toContain('Sources:');
  await frame.getByTestId('conversation-menu').click();
  const [json] = await Promise.all([page.waitForEvent('download'), frame.getByTestId('export-json').click()]);
  const data = JSON.parse(fs.readFileSync((await json.path())!, 'utf8'));
  expect(data.conversation.title).toBe('Middleware notes');
  expect(data.messages).toHaveLength(4);
  expect(data.messages[1].citations.length).toBeGreaterThan(0);

  // Delete it: only the other conversation remains.
  await frame.getByTestId('conversation-menu').click();
  await frame.getByTestId('delete').click();
  await frame.getByTestId('confirm-delete').click();
  await expect(frame.getByTestId('empty-state')).toBeVisible();
  await frame.getByTestId('open-history').click();
  await expect(frame.getByTestId('history-item')).toHaveCount(1);
  await expect(frame.getByTestId('history-item')).toContainText('What is domain randomisation?');
});

test('archive hides a conversation from the list and the archive tab restores it', async ({ page }) => {
  const frame = await openWidget(page);
  await ask(frame, 'What is a digital twin?');
  await frame.getByTestId('conversation-menu').click();
  await frame.getByTestId('archive').click();
  await expect(frame.getByTestId('notice')).toContainText('archived');
  await frame.getByTestId('open-history').click();
  await expect(frame.getByTestId('history-empty')).toBeVisible();
  await frame.getByTestId('tab-archived').click();
  await expect(frame.getByTestId('history-item')).toHaveCount(1);
  await frame.getByTestId('history-item').click();
  await frame.getByTestId('conversation-menu').click();
  await frame.getByTestId('unarchive').click();
  await frame.getByTestId('open-history').click();
  await expect(frame.getByTestId('history-item')).toHaveCount(1);
});

test('the full-page history lists conversations and opens one to continue it', async ({ page }) => {
  const frame = await openWidget(page);
  await ask(frame, 'What does a LiDAR measure?');
  await page.goto('/conversations');
  await expect(page.locator('body[data-ready="true"]')).toBeAttached();
  const item = page.getByTestId('history-item');
  await expect(item).toHaveCount(1);
  await item.click();
  await expect(page).toHaveURL(/\/conversations\/[0-9a-f-]{36}$/);
  await expect(page.locator('body[data-ready="true"]')).toBeAttached();
  await expect(page.getByTestId('msg-user').getByTestId('msg-body')).toHaveText('What does a LiDAR measure?');
  await page.getByTestId('composer').fill('How does a stereo camera compute depth?');
  await page.getByTestId('composer').press('Enter');
  await expect(page.getByTestId('msg-assistant')).toHaveCount(2);
  await expect(page.getByTestId('msg-assistant').last()).toContainText('disparity');
});

test('an expired or unknown conversation link shows a clean empty state', async ({ page }) => {
  await page.goto('/conversations/00000000-0000-4000-8000-000000000000');
  await expect(page.locator('body[data-ready="true"]')).toBeAttached();
  await expect(page.getByTestId('empty-state')).toBeVisible();
});

test('a long conversation opens at its newest messages and loads older ones on scrolling up', async ({ page }) => {
  await page.goto('/widget');
  await expect(page.locator('body[data-ready="true"]')).toBeAttached();
  const token = await page.evaluate(() => localStorage.getItem('bookchat:token'));
  const headers = { 'X-BookChat-Session': token!, 'content-type': 'application/json' };
  let conversation: string | null = null;
  for (let i = 1; i <= 35; i++) {
    const res = await page.request.post('/api/chat/send', {
      headers,
      data: { conversation_id: conversation, client_id: crypto.randomUUID(), content: `Question number ${i} about sensors?` },
    });
    expect(res.status()).toBe(200);
    conversation = (await res.json()).conversation.id;
  }
  await page.goto(`/conversations/${conversation}`);
  await expect(page.locator('body[data-ready="true"]')).toBeAttached();
  const messages = page.getByTestId('messages');
  await expect(page.getByTestId('msg-user').getByTestId('msg-body').last()).toHaveText('Question number 35 about sensors?');
  await expect(page.locator('.bc-msg:not(.bc-pending)')).toHaveCount(30);
  await expect(page.getByText('Start of conversation')).toHaveCount(0);
  // Each scroll to the top loads an older page (30 messages); a scroll event that lands while the
  // list grows may load the next one at once, so count pages, not exact intermediate totals.
  const shown = page.locator('.bc-msg:not(.bc-pending)');
  for (let round = 0; round < 4 && (await shown.count()) < 70; round++) {
    const before = await shown.count();
    await messages.evaluate((el) => el.scrollTo(0, 0));
    await messages.dispatchEvent('scroll');
    await expect.poll(() => shown.count()).toBeGreaterThan(before);
  }
  await expect(shown).toHaveCount(70);
  await expect(page.getByText('Start of conversation')).toBeVisible();
  await expect(page.getByTestId('msg-user').getByTestId('msg-body').first()).toHaveText('Question number 1 about sensors?');
});
