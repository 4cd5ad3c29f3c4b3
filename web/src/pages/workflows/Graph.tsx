// The tasks as a React Flow graph: one node per task, one edge per context
// entry (dashed: a null context, every earlier task). Drawing an edge from a
// task's right handle to another's left handle adds the first to the second's
// context; deleting a selected edge (Delete or Backspace) removes the entry.
// The caller saves; the graph only reports. Nodes whose task a validation
// error names are outlined and list the messages.
import { useMemo, useState } from 'react';
import { Box, Typography, useTheme } from '@mui/material';
import {
  Background,
  Controls,
  Handle,
  MarkerType,
  Position,
  ReactFlow,
  type Connection,
  type Edge,
  type EdgeChange,
  type Node,
  type NodeProps,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { contextEdges, layout, type DraftTask } from './model';

interface TaskNodeData extends Record<string, unknown> {
  index: number;
  taskKey: string;
  agent: string;
  problems: string[];
}

type TaskNode = Node<TaskNodeData, 'task'>;

function TaskNodeView({ data, isConnectable }: NodeProps<TaskNode>) {
  const theme = useTheme();
  const bad = data.problems.length > 0;
  return (
    <Box
      data-task={data.taskKey}
      data-invalid={bad ? 'true' : 'false'}
      sx={{
        width: 210,
        p: 1,
        borderRadius: 1,
        bgcolor: 'background.paper',
        color: 'text.primary',
        border: 2,
        borderColor: bad ? theme.palette.error.main : theme.palette.divider,
      }}
    >
      <Handle type="target" position={Position.Left} isConnectable={isConnectable} />
      <Typography variant="caption" component="div" sx={{ color: 'text.secondary' }}>
        Task {data.index + 1}
      </Typography>
      <Typography variant="body2" component="div" sx={{ fontWeight: 700, overflowWrap: 'anywhere' }}>
        {data.taskKey || '(no key)'}
      </Typography>
      <Typography variant="caption" component="div" sx={{ overflowWrap: 'anywhere' }}>
        {data.agent}
      </Typography>
      {bad && (
        <Typography
          variant="caption"
          component="div"
          role="note"
          title={data.problems.join('\n')}
          sx={{ color: 'error.main', overflowWrap: 'anywhere', display: '-webkit-box', WebkitLineClamp: 3, WebkitBoxOrient: 'vertical', overflow: 'hidden' }}
        >
          {data.problems.length === 1 ? '1 problem' : `${data.problems.length} problems`}: {data.problems.join('; ')}
        </Typography>
      )}
      <Handle type="source" position={Position.Right} isConnectable={isConnectable} />
    </Box>
  );
}

const nodeTypes = { task: TaskNodeView };

export function Graph({
  tasks,
  agentName,
  problems,
  editable,
  onConnect,
  onDisconnect,
  onSelectTask,
}: {
  tasks: DraftTask[];
  agentName: (id: string) => string;
  problems: (index: number) => string[];
  editable: boolean;
  onConnect: (source: string, target: string) => void;
  onDisconnect: (source: string, target: string) => void;
  onSelectTask: (index: number) => void;
}) {
  const theme = useTheme();
  const [selected, setSelected] = useState<string | null>(null);
  const positions = useMemo(() => layout(tasks), [tasks]);
  const nodes: TaskNode[] = tasks.map((t, i) => ({
    id: t.key,
    type: 'task',
    position: positions[t.key] ?? { x: 0, y: 0 },
    data: { index: i, taskKey: t.key, agent: t.agent_id ? agentName(t.agent_id) : 'no agent', problems: problems(i) },
    ariaLabel: `Task ${t.key}`,
  }));
  const edges: Edge[] = contextEdges(tasks).map((e) => ({
    id: e.id,
    source: e.source,
    target: e.target,
    selected: e.id === selected,
    deletable: editable,
    animated: false,
    markerEnd: { type: MarkerType.ArrowClosed, width: 18, height: 18, color: theme.palette.text.secondary },
    style: { stroke: theme.palette.text.secondary, strokeWidth: 1.5, ...(e.implicit ? { strokeDasharray: '6 4' } : {}) },
    ariaLabel: `${e.target} gets the output of ${e.source}${e.implicit ? ' (every earlier task)' : ''}`,
    data: { implicit: e.implicit },
  }));

  function edgesChange(changes: EdgeChange[]) {
    for (const c of changes) if (c.type === 'select') setSelected(c.selected ? c.id : null);
  }

  return (
    <Box
      role="group"
      aria-label="Task graph"
      sx={{ height: 340, border: 1, borderColor: 'divider', borderRadius: 1 }}
      data-testid="task-graph"
    >
      <ReactFlow
        key={tasks.length /* a task added or removed: fit the view again */}
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        colorMode={theme.palette.mode}
        nodesDraggable={false}
        nodesConnectable={editable}
        edgesFocusable
        deleteKeyCode={editable ? ['Delete', 'Backspace'] : null}
        onEdgesChange={edgesChange}
        onEdgesDelete={(del) => del.forEach((e) => onDisconnect(e.source, e.target))}
        onConnect={(c: Connection) => onConnect(c.source, c.target)}
        onNodeClick={(_, n) => onSelectTask((n.data as TaskNodeData).index)}
        fitView
        fitViewOptions={{ padding: 0.2, maxZoom: 1 }}
        proOptions={{ hideAttribution: true }}
      >
        <Background />
        <Controls showInteractive={false} />
      </ReactFlow>
    </Box>
  );
}
