// Registers the read-only check modules used by playbooks/verify.yaml.
import { register } from './index.js';
import { checkFile } from './check_file.js';
import { checkHaDisk, checkLvsHttp } from './check_ha.js';

register(checkFile, checkHaDisk, checkLvsHttp);
