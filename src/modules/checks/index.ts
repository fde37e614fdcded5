// Read-only checks for `verify`: they change nothing and report pass/fail with a reason.
import type { ModuleDef } from '../../engine/types.js';
import { checkFile } from './check_file.js';
import { checkHaDisk, checkLvsHttp } from './check_ha.js';
import { checkPeers } from './check_peers.js';
import { checkPacemaker } from './check_pacemaker.js';
import { checkLvsTable, checkLvsVip } from './check_lvs_failover.js';

export const checkModules: readonly ModuleDef[] = [checkFile, checkPeers, checkHaDisk, checkLvsHttp, checkLvsVip, checkLvsTable, checkPacemaker];
