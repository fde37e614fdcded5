// Loads every module so that playbooks can name them.
import './core-index.js';
import './ha-index.js';
import './lvs-index.js';
import './check-index.js';
export { modules } from './index.js';
