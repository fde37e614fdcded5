// Loads every module so that playbooks can name them.
import './core-index.js';
export { modules } from './index.js';
