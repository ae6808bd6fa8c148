// Shared configuration, written the way the original UAOL backend wrote it.
//
// The `database` getter is the seed of the bug this repository exists for: when
// DATABASE_URL is not in the environment *at the moment it is read*, it falls
// back to a localhost URL. shared/db.js reads it once, at module-load time, so
// whatever the environment held then is cached in the pool forever.
'use strict';

const FALLBACK_DATABASE_URL = 'postgresql://user:password@localhost:5432/uaol';

const config = {
  get database() {
    return process.env.DATABASE_URL || FALLBACK_DATABASE_URL;
  },
  get port() {
    return Number(process.env.PORT || 3000);
  },
  get host() {
    return process.env.HOST || '127.0.0.1';
  },
  get nodeEnv() {
    return process.env.NODE_ENV || 'development';
  },
  services: {
    get auth() {
      return process.env.AUTH_SERVICE_URL || 'http://127.0.0.1:3001';
    },
    get jobs() {
      return process.env.JOB_SERVICE_URL || 'http://127.0.0.1:3002';
    },
    // Every copy of the job service (JOB_SERVICE_URLS, comma-separated), else the one.
    get jobsAll() {
      const list = (process.env.JOB_SERVICE_URLS || '').split(',').map((u) => u.trim()).filter(Boolean);
      return list.length ? list : [this.jobs];
    },
  },
  FALLBACK_DATABASE_URL,
};

module.exports = config;
