import { defineContract } from './contract.js';
import { targets } from './targets.js';

defineContract(targets.find((target) => target.name === 'nodejs20 (spare processes)')!);
