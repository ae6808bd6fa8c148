// The Job model — created at import, holding the shared pool (as in the original).
'use strict';

const { pool } = require('../../../shared/db');

class JobModel {
  constructor(db) {
    this.db = db;
  }

  async create(kind, payload) {
    const { rows } = await this.db.query(
      `INSERT INTO jobs (kind, payload) VALUES ($1, $2)
       RETURNING id, kind, status, payload, created_at`,
      [kind, payload],
    );
    return rows[0];
  }

  async get(id) {
    const { rows } = await this.db.query(
      'SELECT id, kind, status, payload, created_at FROM jobs WHERE id = $1',
      [id],
    );
    return rows[0] || null;
  }
}

module.exports = new JobModel(pool);
