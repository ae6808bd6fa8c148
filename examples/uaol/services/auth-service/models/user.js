// The User model — created at import, holding the shared pool (as in the original).
'use strict';

const { pool } = require('../../../shared/db');

class UserModel {
  constructor(db) {
    this.db = db;
  }

  async create(email) {
    const { rows } = await this.db.query(
      `INSERT INTO users (email) VALUES ($1)
       ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email
       RETURNING id, email, created_at`,
      [email],
    );
    return rows[0];
  }

  async count() {
    const { rows } = await this.db.query('SELECT count(*)::int AS n FROM users');
    return rows[0].n;
  }
}

module.exports = new UserModel(pool);
