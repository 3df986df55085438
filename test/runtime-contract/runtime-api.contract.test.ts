import { defineContract } from './contract.js';
import { targets } from './targets.js';

defineContract(targets[3]!);
