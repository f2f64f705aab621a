import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../server/config.js';

describe('history retention configuration', () => {
  it('keeps whole rows 90 days and payloads 30 days by default', () => {
    const config = loadConfig({});
    expect(config.historyRetentionDays).toBe(90);
    expect(config.retentionDays).toBe(30);
  });

  it('accepts a history horizon equal to or beyond the payload retention', () => {
    expect(loadConfig({ WEBHOOKS_HISTORY_RETENTION_DAYS: '30', WEBHOOKS_RETENTION_DAYS: '30' }).historyRetentionDays).toBe(30);
    expect(loadConfig({ WEBHOOKS_HISTORY_RETENTION_DAYS: '400', WEBHOOKS_RETENTION_DAYS: '7' })).toMatchObject({ historyRetentionDays: 400, retentionDays: 7 });
  });

  it('refuses payloads kept longer than their rows, in one line naming both variables', () => {
    const attempt = () => loadConfig({ WEBHOOKS_HISTORY_RETENTION_DAYS: '20' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(
      'Invalid configuration: WEBHOOKS_HISTORY_RETENTION_DAYS (20) must be at least WEBHOOKS_RETENTION_DAYS (30): payloads cannot outlive the rows that hold them',
    );
  });

  it.each([['0'], ['-1'], ['ninety'], ['9.5'], ['3651']])('refuses WEBHOOKS_HISTORY_RETENTION_DAYS=%s', (value) => {
    expect(() => loadConfig({ WEBHOOKS_HISTORY_RETENTION_DAYS: value })).toThrow(/^Invalid configuration: WEBHOOKS_HISTORY_RETENTION_DAYS /);
  });
});
