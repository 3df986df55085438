// ESM side: the edgefc SDK package, re-exported.
export * from 'edgefc';
