// The generic modules.
import { register } from './index.js';
import { hostsFile } from './hosts_file.js';
import { file } from './file.js';
import { directory } from './directory.js';
import { checkPeers } from './check_peers.js';
import { command } from './command.js';

register(hostsFile, file, directory, checkPeers, command);
