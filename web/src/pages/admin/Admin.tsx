// Administration: workspace members, API keys, the audit log (workspace
// admins) and users (instance administrators), one tab each.
import { Box, Tab, Tabs, Typography } from '@mui/material';
import { Link, Navigate, Route, Routes, useLocation } from 'react-router-dom';
import { useRole } from '../../Layout';
import { Loading } from '../../ui';
import { roleRank, useMe } from './common';
import { Members } from './Members';
import { ApiKeys } from './ApiKeys';
import { Audit } from './Audit';
import { Users } from './Users';

interface TabDef {
  path: string;
  label: string;
  element: JSX.Element;
}

export default function Admin() {
  const role = useRole();
  const me = useMe();
  const location = useLocation();
  if (me.isPending || role === undefined) return <Loading label="Loading administration" />;
  const wsAdmin = roleRank(role) >= roleRank('admin');
  const tabs: TabDef[] = [{ path: 'members', label: 'Members', element: <Members /> }];
  if (wsAdmin) tabs.push({ path: 'api-keys', label: 'API keys', element: <ApiKeys /> });
  if (wsAdmin) tabs.push({ path: 'audit', label: 'Audit log', element: <Audit instanceAdmin={!!me.data?.is_admin} /> });
  if (me.data?.is_admin) tabs.push({ path: 'users', label: 'Users', element: <Users /> });
  const current = tabs.find((t) => location.pathname.startsWith(`/admin/${t.path}`))?.path ?? false;

  return (
    <Box>
      <Typography component="h1" variant="h4" sx={{ mb: 1 }}>
        Administration
      </Typography>
      <Tabs value={current} aria-label="Administration sections" sx={{ mb: 2, borderBottom: 1, borderColor: 'divider' }}>
        {tabs.map((t) => (
          <Tab key={t.path} value={t.path} label={t.label} component={Link} to={`/admin/${t.path}`} />
        ))}
      </Tabs>
      <Routes>
        {tabs.map((t) => (
          <Route key={t.path} path={`${t.path}/*`} element={t.element} />
        ))}
        <Route path="*" element={<Navigate to="/admin/members" replace />} />
      </Routes>
    </Box>
  );
}
